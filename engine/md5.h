#pragma once
// MD5 (RFC 1321), used only to verify downloads against their published checksums.
#include <cstdint>
#include <string>

namespace normout {

class Md5 {
  public:
    Md5();
    void update(const void* data, std::size_t size);
    std::string hex_digest();  // finalises; call once

  private:
    void block(const uint8_t* p);
    uint32_t state_[4];
    uint64_t length_ = 0;
    uint8_t buffer_[64];
    std::size_t used_ = 0;
};

std::string md5_hex(const std::string& data);
std::string md5_file(const std::string& path);  // throws std::runtime_error naming the file

}  // namespace normout
