#pragma once
// MD5 (RFC 1321) through OpenSSL's EVP interface, used only to verify downloads against their
// published checksums. Builds without OpenSSL (NORMOUT_HAVE_OPENSSL unset) keep this API, but
// every function throws std::runtime_error saying so; md5_available() tells callers beforehand.
#include <cstddef>
#include <string>

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX

namespace normout {

class Md5 {
  public:
    Md5();  // throws std::runtime_error without OpenSSL, or where OpenSSL refuses MD5
    ~Md5();
    Md5(const Md5&) = delete;
    Md5& operator=(const Md5&) = delete;
    void update(const void* data, std::size_t size);
    std::string hex_digest();  // finalises; call once

  private:
    evp_md_ctx_st* ctx_ = nullptr;
};

// False in builds without OpenSSL.
bool md5_available();

std::string md5_hex(const std::string& data);
std::string md5_file(const std::string& path);  // throws std::runtime_error naming the file

}  // namespace normout
