import CPNG
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// PNG files through libpng's simplified API: read any PNG as RGB, write RGB, RGBA or 8-bit gray.
///
/// Writes go to a temporary file in the destination folder and are renamed into place, so a reader never sees
/// half a file and a failed export leaves the old file untouched.
///
///     try PNG.write(frame, to: URL(fileURLWithPath: "frame.png"))
///     let back = try PNG.read(contentsOf: URL(fileURLWithPath: "frame.png"))
public enum PNG {
    // MARK: - Reading

    /// Reads a PNG of any colour type and bit depth as 8-bit RGB; transparent pixels are composited onto black.
    public static func read(contentsOf url: URL) throws -> RGBImage {
        let path = url.path
        guard FileManager.default.fileExists(atPath: path) else { throw MediaError.fileNotFound(path: path) }
        var image = png_image()
        image.version = ds_png_image_version()
        guard png_image_begin_read_from_file(&image, path) != 0 else { throw failure(&image, path: path) }
        let width = Int(image.width), height = Int(image.height)
        // The header is all that has been read: refuse a giant size before allocating its pixels.
        guard VideoLimits.accepts(width: width, height: height) else {
            png_image_free(&image)
            throw MediaError.png(path: path, message: "image size \(width)×\(height) is too large")
        }
        image.format = ds_png_format_rgb()
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        let ok = pixels.withUnsafeMutableBytes {
            png_image_finish_read(&image, nil, $0.baseAddress, Int32(width * 3), nil)
        }
        guard ok != 0 else { throw failure(&image, path: path) }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    // MARK: - Writing

    /// Writes an RGB image.
    public static func write(_ image: RGBImage, to url: URL) throws {
        try write(pixels: image.pixels, width: image.width, height: image.height, channels: 3,
                  format: ds_png_format_rgb(), to: url)
    }

    /// Writes 8-bit RGBA pixels (`width * height * 4` bytes, not premultiplied).
    public static func writeRGBA(_ pixels: [UInt8], width: Int, height: Int, to url: URL) throws {
        try write(pixels: pixels, width: width, height: height, channels: 4, format: ds_png_format_rgba(), to: url)
    }

    /// Writes 8-bit grayscale pixels (`width * height` bytes), e.g. a heatmap before colouring.
    public static func writeGray(_ pixels: [UInt8], width: Int, height: Int, to url: URL) throws {
        try write(pixels: pixels, width: width, height: height, channels: 1, format: ds_png_format_gray(), to: url)
    }

    /// The PNG encoding of an RGB image in memory (for terminal protocols that carry PNG).
    public static func encoded(_ image: RGBImage) throws -> [UInt8] {
        var png = header(width: image.width, height: image.height, format: ds_png_format_rgb())
        var size = 0
        let stride = Int32(image.width * 3)
        _ = image.pixels.withUnsafeBytes { png_image_write_to_memory(&png, nil, &size, 0, $0.baseAddress, stride, nil) }
        guard size > 0 else { throw failure(&png, path: "<memory>") }
        var out = [UInt8](repeating: 0, count: size)
        let ok = out.withUnsafeMutableBytes { buffer in
            image.pixels.withUnsafeBytes {
                png_image_write_to_memory(&png, buffer.baseAddress, &size, 0, $0.baseAddress, stride, nil)
            }
        }
        guard ok != 0 else { throw failure(&png, path: "<memory>") }
        return Array(out.prefix(size))
    }

    private static func write(pixels: [UInt8], width: Int, height: Int, channels: Int, format: png_uint_32,
                              to url: URL) throws {
        let path = url.path
        guard width > 0, height > 0, pixels.count == width * height * channels else {
            throw MediaError.png(path: path, message: "\(pixels.count) bytes do not make a \(width)×\(height)×\(channels) image")
        }
        let folder = url.deletingLastPathComponent()
        let temporary = folder.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        var png = header(width: width, height: height, format: format)
        let ok = pixels.withUnsafeBytes {
            png_image_write_to_file(&png, temporary.path, 0, $0.baseAddress, Int32(width * channels), nil)
        }
        guard ok != 0 else {
            try? FileManager.default.removeItem(at: temporary)
            throw failure(&png, path: path)
        }
        // rename(2) replaces the destination atomically within one file system.
        guard rename(temporary.path, path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw MediaError.png(path: path, message: "cannot move the written file into place: \(reason)")
        }
    }

    private static func header(width: Int, height: Int, format: png_uint_32) -> png_image {
        var png = png_image()
        png.version = ds_png_image_version()
        png.width = png_uint_32(width)
        png.height = png_uint_32(height)
        png.format = format
        return png
    }

    /// libpng's message for a failed simplified-API call; frees the control structure.
    private static func failure(_ image: inout png_image, path: String) -> MediaError {
        let message = withUnsafeBytes(of: image.message) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        png_image_free(&image)
        return .png(path: path, message: message.isEmpty ? "unreadable file" : message)
    }
}
