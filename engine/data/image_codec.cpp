#include "engine/data/image_codec.h"

// libjpeg's header needs FILE and size_t declared first.
#include <jpeglib.h>
#include <png.h>
#include <csetjmp>
#include <cstdio>
#include <cstring>

#include <memory>

namespace normout {

namespace {

// Data-set images are small; a header claiming more is corrupt (or an attack on memory).
constexpr uint64_t kMaxPixels = 64ull << 20;

void check_dimensions(uint64_t width, uint64_t height, const std::string& name) {
    if (width == 0 || height == 0 || width * height > kMaxPixels)
        throw DataError(name + ": implausible image size " + std::to_string(width) + "x" + std::to_string(height));
}

struct JpegError {
    jpeg_error_mgr mgr;
    std::jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
};

void jpeg_error_exit(j_common_ptr info) {
    auto* err = reinterpret_cast<JpegError*>(info->err);
    (*info->err->format_message)(info, err->message);
    std::longjmp(err->jump, 1);
}

void jpeg_silence(j_common_ptr, int) {}

DecodedImage decode_jpeg(const uint8_t* data, std::size_t size, const std::string& name) {
    jpeg_decompress_struct cinfo;
    JpegError err;
    cinfo.err = jpeg_std_error(&err.mgr);
    err.mgr.error_exit = jpeg_error_exit;
    err.mgr.emit_message = jpeg_silence;  // warnings about recoverable glitches stay quiet
    DecodedImage img;
    // Nothing with a destructor may live between setjmp and longjmp: the result is filled below.
    std::vector<uint8_t>* out = &img.pixels;
    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&cinfo);
        throw DataError(name + ": corrupt JPEG: " + err.message);
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, const_cast<unsigned char*>(data), static_cast<unsigned long>(size));
    jpeg_read_header(&cinfo, TRUE);
    if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
        jpeg_destroy_decompress(&cinfo);
        throw DataError(name + ": CMYK JPEG images are not supported");
    }
    if (static_cast<uint64_t>(cinfo.image_width) * cinfo.image_height > kMaxPixels) {
        jpeg_destroy_decompress(&cinfo);
        check_dimensions(cinfo.image_width, cinfo.image_height, name);
    }
    cinfo.out_color_space = cinfo.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_start_decompress(&cinfo);
    img.width = static_cast<int>(cinfo.output_width);
    img.height = static_cast<int>(cinfo.output_height);
    img.channels = cinfo.output_components;
    out->resize(static_cast<std::size_t>(img.width) * img.height * img.channels);
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = out->data() + static_cast<std::size_t>(cinfo.output_scanline) * img.width * img.channels;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    return img;
}

DecodedImage decode_png(const uint8_t* data, std::size_t size, const std::string& name) {
    png_image image;
    std::memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&image, data, size))
        throw DataError(name + ": corrupt PNG: " + image.message);
    if (static_cast<uint64_t>(image.width) * image.height > kMaxPixels) {
        png_image_free(&image);
        check_dimensions(image.width, image.height, name);
    }
    const bool color = (image.format & PNG_FORMAT_FLAG_COLOR) != 0;
    image.format = color ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;  // alpha is composited away
    DecodedImage img;
    img.width = static_cast<int>(image.width);
    img.height = static_cast<int>(image.height);
    img.channels = color ? 3 : 1;
    img.pixels.resize(PNG_IMAGE_SIZE(image));
    if (!png_image_finish_read(&image, nullptr, img.pixels.data(), 0, nullptr)) {
        std::string msg = image.message;
        png_image_free(&image);
        throw DataError(name + ": corrupt PNG: " + msg);
    }
    return img;
}

}  // namespace

DecodedImage decode_image(const uint8_t* data, std::size_t size, const std::string& name) {
    if (size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) return decode_jpeg(data, size, name);
    if (size >= 8 && png_sig_cmp(const_cast<png_bytep>(data), 0, 8) == 0) return decode_png(data, size, name);
    if (size == 0) throw DataError(name + ": empty file");
    throw DataError(name + ": not a JPEG or PNG image (unrecognised signature)");
}

void write_png(const std::string& path, const uint8_t* hwc, int width, int height, int channels) {
    png_image image;
    std::memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    image.width = static_cast<png_uint_32>(width);
    image.height = static_cast<png_uint_32>(height);
    image.format = channels == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
    if (!png_image_write_to_file(&image, path.c_str(), 0, hwc, 0, nullptr))
        throw DataError(path + ": cannot write PNG: " + image.message);
}

void write_jpeg(const std::string& path, const uint8_t* hwc, int width, int height, int channels, int quality) {
    std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "wb"), &std::fclose);
    if (!file) throw DataError(path + ": cannot open for writing");
    jpeg_compress_struct cinfo;
    JpegError err;
    cinfo.err = jpeg_std_error(&err.mgr);
    err.mgr.error_exit = jpeg_error_exit;
    if (setjmp(err.jump)) {
        jpeg_destroy_compress(&cinfo);
        throw DataError(path + ": cannot write JPEG: " + err.message);
    }
    jpeg_create_compress(&cinfo);
    jpeg_stdio_dest(&cinfo, file.get());
    cinfo.image_width = static_cast<JDIMENSION>(width);
    cinfo.image_height = static_cast<JDIMENSION>(height);
    cinfo.input_components = channels;
    cinfo.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = const_cast<JSAMPROW>(hwc + static_cast<std::size_t>(cinfo.next_scanline) * width * channels);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
}

}  // namespace normout
