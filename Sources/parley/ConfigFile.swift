import ArgumentParser
import Foundation
import Synchronization
import Yams

/// The `--config` YAML file: the layer under flags and environment variables. Its keys are the environment
/// variables' names without `PARLEY_`, in lower case with dashes (`PARLEY_MAX_PARTICIPANTS` → `max-participants`);
/// a list is a YAML list (or a comma-separated string, as in the environment). It is read before the flags are
/// parsed (their defaults come from it), found by `--config PATH`, `--config=PATH` or `PARLEY_CONFIG`.
final class ConfigFile: Sendable {
    static let shared = ConfigFile(path: ConfigFile.path(in: CommandLine.arguments))

    private let values: [String: String]
    private let problem: String?
    /// The keys the options asked for, to find a file's unknown (misspelt) keys.
    private let asked = Mutex<Set<String>>([])

    init(path: String?) {
        guard let path else {
            (values, problem) = ([:], nil)
            return
        }
        do {
            (values, problem) = (try Self.load(path), nil)
        } catch {
            (values, problem) = ([:], "--config \(path): \(error)")
        }
    }

    static func path(in arguments: [String]) -> String? {
        for (i, argument) in arguments.enumerated() {
            if argument == "--config", i + 1 < arguments.count { return arguments[i + 1] }
            if argument.hasPrefix("--config=") { return String(argument.dropFirst("--config=".count)) }
        }
        return ProcessInfo.processInfo.environment["PARLEY_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The file's value for the setting whose environment variable is `name`.
    func value(forEnvironment name: String) -> String? {
        let key = Self.key(forEnvironment: name)
        asked.withLock { _ = $0.insert(key) }
        return values[key]
    }

    static func key(forEnvironment name: String) -> String {
        String(name.dropFirst(name.hasPrefix("PARLEY_") ? 7 : 0)).lowercased().replacingOccurrences(of: "_", with: "-")
    }

    /// A file that could not be read, or a key no option has, stops the start.
    func check() throws {
        if let problem { throw ValidationError(problem) }
        let known = asked.withLock { $0 }
        let unknown = values.keys.filter { !known.contains($0) }.sorted()
        if !unknown.isEmpty {
            throw ValidationError("--config: unknown setting\(unknown.count > 1 ? "s" : "") \(unknown.joined(separator: ", ")) (see parley --help; keys are the PARLEY_ variables in lower case with dashes)")
        }
    }

    enum LoadError: Error, CustomStringConvertible {
        case unreadable, notAMapping, badValue(String)
        var description: String {
            switch self {
            case .unreadable: "cannot read the file"
            case .notAMapping: "the file must be a YAML mapping of settings"
            case .badValue(let key): "'\(key)' must be a string, a number, true/false, or a list of those"
            }
        }
    }

    static func load(_ path: String) throws -> [String: String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw LoadError.unreadable }
        guard let node = try Yams.compose(yaml: text) else { return [:] }
        guard let mapping = node.mapping else { throw LoadError.notAMapping }
        var values: [String: String] = [:]
        for (keyNode, valueNode) in mapping {
            guard let key = keyNode.string else { throw LoadError.notAMapping }
            if let scalar = valueNode.scalar {
                values[key] = scalar.string
            } else if let sequence = valueNode.sequence {
                let items = try sequence.map { item -> String in
                    guard let scalar = item.scalar else { throw LoadError.badValue(key) }
                    return scalar.string
                }
                values[key] = items.joined(separator: ",")
            } else {
                throw LoadError.badValue(key)
            }
        }
        return values
    }
}
