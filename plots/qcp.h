#pragma once
// QCustomPlot's header uses Qt's keyword macros (signals, foreach), which the project turns off
// (QT_NO_KEYWORDS: they clash with LibTorch). Include QCustomPlot through this header only.
#define signals Q_SIGNALS
#define foreach Q_FOREACH
#include <qcustomplot.h>
#undef signals
#undef foreach
