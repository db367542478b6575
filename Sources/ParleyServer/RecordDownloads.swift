import Foundation
import Hummingbird

/// `GET /client/records/NAME` (the path Web Call Server apps build): a finished recording from `--record-dir`,
/// with HTTP Range (a `<video>` seeks) by the file middleware that follows. Only a plain file name is looked up:
/// anything with a slash, `..`, a leading dot or the `.part` of a recording still being written is 404, so a
/// client never reaches past the folder or a half-written file.
struct RecordDownloadsMiddleware<Context: RequestContext>: RouterMiddleware {
    static var prefix: String { "/client/records/" }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let raw = request.uri.path
        guard raw.hasPrefix(Self.prefix) else { return try await next(request, context) }
        let name = String(raw.dropFirst(Self.prefix.count)).removingPercentEncoding ?? ""
        guard RecordNames.isServable(name) else { throw HTTPError(.notFound) }
        return try await next(request, context)
    }
}

enum RecordNames {
    /// A finished recording in the folder (a `.part` is still being written).
    struct File {
        let name: String
        let path: String
        let bytes: Int
        let modified: Date
    }

    /// The finished recordings of `directory`: servable names of `.webm`/`.mkv` regular files.
    static func finished(in directory: String) -> [File] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).compactMap { name in
            guard isServable(name), name.hasSuffix(".webm") || name.hasSuffix(".mkv") else { return nil }
            let path = directory + "/" + name
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
                  attributes[.type] as? FileAttributeType == .typeRegular,
                  let modified = attributes[.modificationDate] as? Date else { return nil }
            return File(name: name, path: path, bytes: (attributes[.size] as? NSNumber)?.intValue ?? 0, modified: modified)
        }
    }

    /// A recording's name as the server makes it: letters, digits, `-`, `_` and dots, not leading, no `.part`.
    static func isServable(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 200 && !name.hasPrefix(".") && !name.contains("..") && !name.hasSuffix(".part")
            && name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0)) }
    }
}
