// The fuzzing driver (docs/ROBUSTNESS.md, "Fuzzing").
//
// Built with `-sanitize=fuzzer,address -parse-as-library -DFUZZING` (`make fuzz-build`), this is a libFuzzer
// binary: libFuzzer's main calls LLVMFuzzerTestOneInput with each input, and PARLEY_FUZZ_TARGET names the target.
//
// In a plain build it replays inputs instead: `parley-fuzz TARGET PATH...` runs every file (every file in each
// directory) through the target once, so a corpus or a crash can be checked without the sanitizer toolchain;
// `parley-fuzz --list` prints the target names.
import Foundation
import FuzzTargets

// No top-level statements in either branch: the fuzzing build is compiled with -parse-as-library, where they are an
// error even in an inactive #if branch. In a plain build, main.swift is top-level code and the global `replayed`
// below is initialized, so the replay runs, at start-up.

func fail(_ message: String, status: Int32) -> Never {
    FileHandle.standardError.write(Data("parley-fuzz: \(message)\n".utf8))
    exit(status)
}

#if FUZZING
nonisolated(unsafe) private var selected: FuzzTargets.Target?

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let target: FuzzTargets.Target
    if let selected {
        target = selected
    } else {
        let name = ProcessInfo.processInfo.environment["PARLEY_FUZZ_TARGET"] ?? ""
        guard let found = FuzzTargets.all[name] else {
            let problem = name.isEmpty ? "PARLEY_FUZZ_TARGET is not set" : "PARLEY_FUZZ_TARGET=\(name) is no target"
            fail("\(problem); the targets: \(FuzzTargets.names.joined(separator: " "))", status: 2)
        }
        selected = found
        target = found
    }
    target(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

/// libFuzzer's driver (compiler-rt's FuzzerInterface.h), for programs that have their own main.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> CInt

/// SwiftPM links every executable with `--defsym main=<module>_main`, so libFuzzer's own main is never linked in
/// and -parse-as-library leaves that symbol undefined: this is it, and it hands over to libFuzzer's driver.
@_cdecl("parley_fuzz_main")
public func parleyFuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzOne(data, size) }
}

#else
enum Replay {
    static func usage() -> Never {
        print("usage: parley-fuzz TARGET PATH...   replay files (or every file of directories) through a target")
        print("       parley-fuzz --list           the targets")
        exit(2)
    }

    static func run() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments == ["--list"] {
            for name in FuzzTargets.names { print(name) }
            exit(0)
        }
        guard arguments.count >= 2 else { usage() }
        guard let target = FuzzTargets.all[arguments[0]] else {
            fail("no target \(arguments[0]); the targets: \(FuzzTargets.names.joined(separator: " "))", status: 2)
        }
        var files: [String] = []
        for path in arguments.dropFirst() {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { fail("\(path) does not exist", status: 1) }
            guard isDirectory.boolValue else {
                files.append(path)
                continue
            }
            let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            for name in names.sorted() {
                var sub: ObjCBool = false
                let file = path + "/" + name
                if FileManager.default.fileExists(atPath: file, isDirectory: &sub), !sub.boolValue { files.append(file) }
            }
        }
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else { fail("cannot read \(file)", status: 1) }
            data.withUnsafeBytes { target($0) }
        }
        print("\(arguments[0]): \(files.count) inputs replayed")
        exit(0)
    }
}

private let replayed: Void = Replay.run()
#endif
