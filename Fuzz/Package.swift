// swift-tools-version:6.1
// libFuzzer targets: one per parser of outside input (Fuzz/targets lists them). A package of its own because a fuzz
// target has no main (libFuzzer supplies it), so it links only when built
// with `--sanitize=fuzzer`; kept apart, the main package builds as usual.
//
//   swift build --package-path Fuzz -c release --sanitize=fuzzer --product FuzzDeframer
//   SWIFT_BACKTRACE=enable=no Fuzz/.build/release/FuzzDeframer Fuzz/Corpus/deframer -max_total_time=30
//
// scripts/fuzz runs every target on its corpus for a short while (CI);
// scripts/fuzz-long runs each for ten million inputs and tabulates the figures.
import PackageDescription

/// A libFuzzer target on the pumpd products it reads with; it has no main
/// of its own (libFuzzer's), hence `-parse-as-library`.
func fuzzTarget(_ name: String, _ products: String...) -> Target {
    .executableTarget(
        name: name,
        dependencies: products.map { .product(name: $0, package: "pumpd") },
        swiftSettings: [.unsafeFlags(["-parse-as-library"])]
    )
}

let package = Package(
    name: "PumpdFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "pumpd", path: "..")],
    targets: [
        fuzzTarget("FuzzDeframer", "Wire", "Dissector", "JSON"),
        fuzzTarget("FuzzPayloads", "Wire", "Messages", "Dissector", "JSON"),
        fuzzTarget("FuzzAPI", "API", "DoseSafety", "Messages", "JSON"),
        fuzzTarget("FuzzHTTPResponse", "Client", "JSON"),
        fuzzTarget("FuzzCapture", "Capture", "Dissector", "JSON", "Simulator", "Wire"),
        fuzzTarget("FuzzProgramFile", "ProgramFiles", "API", "JSON", "Messages"),
        fuzzTarget("FuzzKeyFile", "Credentials", "Wire"),
        fuzzTarget("FuzzConfig", "DaemonInput", "JSON"),
        fuzzTarget("FuzzDrugLibrary", "API", "DoseSafety", "JSON", "Messages"),
        fuzzTarget("FuzzChunkScanner", "DaemonInput"),
        fuzzTarget("FuzzReview", "API", "DoseSafety", "JSON", "Messages"),
        fuzzTarget("FuzzStationForm", "Station", "API", "Messages"),
        fuzzTarget("FuzzLogLine", "LogText"),
    ],
    swiftLanguageModes: [.v6]
)
