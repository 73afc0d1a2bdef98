#pragma once
// Precompiled LibTorch headers for the engine's torch sources (narrow on purpose: torch/torch.h
// as a PCH is 570 MB and slower to load than to parse these).
#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/optim/sgd.h>
#include <torch/utils.h>
