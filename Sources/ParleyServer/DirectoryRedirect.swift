import Foundation
import Hummingbird

/// `/apps/conference?roomName=abc` → `/apps/conference/?roomName=abc`. The file middleware's own redirect for a
/// folder drops the query, and with it the room of an invite link typed without the final slash.
struct DirectoryRedirectMiddleware<Context: RequestContext>: RouterMiddleware {
    let root: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard request.method == .get || request.method == .head, path.count > 1, !path.hasSuffix("/"),
              !path.contains(".."), !(path.split(separator: "/").last?.contains(".") ?? true) else {
            return try await next(request, context)
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root + path, isDirectory: &isDirectory), isDirectory.boolValue else {
            return try await next(request, context)
        }
        let query = request.uri.query.map { "?" + $0 } ?? ""
        return Response(status: .movedPermanently, headers: [.location: path + "/" + query])
    }
}
