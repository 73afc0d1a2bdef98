#include "engine/data/md5.h"

#include <fstream>
#include <stdexcept>
#include <vector>

#ifdef NORMOUT_HAVE_OPENSSL
#include <openssl/evp.h>
#endif

namespace normout {

#ifdef NORMOUT_HAVE_OPENSSL

Md5::Md5() : ctx_(EVP_MD_CTX_new()) {
    if (!ctx_) throw std::runtime_error("MD5: out of memory");
    if (EVP_DigestInit_ex(ctx_, EVP_md5(), nullptr) != 1) {
        EVP_MD_CTX_free(ctx_);
        throw std::runtime_error("MD5 is not available from OpenSSL (is it in FIPS mode?)");
    }
}

Md5::~Md5() {
    EVP_MD_CTX_free(ctx_);
}

void Md5::update(const void* data, std::size_t size) {
    if (size > 0 && EVP_DigestUpdate(ctx_, data, size) != 1) throw std::runtime_error("MD5: OpenSSL digest failed");
}

std::string Md5::hex_digest() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(ctx_, digest, &len) != 1) throw std::runtime_error("MD5: OpenSSL digest failed");
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < len; ++i) {
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 15];
    }
    return out;
}

bool md5_available() {
    return true;
}

#else

Md5::Md5() {
    throw std::runtime_error(
        "cannot compute MD5 checksums: this build of NormOut Lab has no OpenSSL (it was built "
        "without libssl-dev)");
}
Md5::~Md5() = default;
void Md5::update(const void*, std::size_t) {}
std::string Md5::hex_digest() {
    return {};
}

bool md5_available() {
    return false;
}

#endif

std::string md5_hex(const std::string& data) {
    Md5 m;
    m.update(data.data(), data.size());
    return m.hex_digest();
}

std::string md5_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(path + ": cannot open file");
    Md5 m;
    std::vector<char> buf(1 << 16);
    while (in) {
        in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
        m.update(buf.data(), static_cast<std::size_t>(in.gcount()));
    }
    if (in.bad()) throw std::runtime_error(path + ": read error");
    return m.hex_digest();
}

}  // namespace normout
