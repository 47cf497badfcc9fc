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

let package = Package(
    name: "PumpdFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "pumpd", path: "..")],
    targets: [
        .executableTarget(
            name: "FuzzDeframer",
            dependencies: [
                .product(name: "Wire", package: "pumpd"),
                .product(name: "Dissector", package: "pumpd"),
            ],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
        .executableTarget(
            name: "FuzzPayloads",
            dependencies: [
                .product(name: "Wire", package: "pumpd"),
                .product(name: "Messages", package: "pumpd"),
                .product(name: "Dissector", package: "pumpd"),
            ],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
        .executableTarget(
            name: "FuzzAPI",
            dependencies: [
                .product(name: "API", package: "pumpd"),
                .product(name: "Messages", package: "pumpd"),
                .product(name: "Dissector", package: "pumpd"),
            ],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
        .executableTarget(
            name: "FuzzHTTPResponse",
            dependencies: [
                .product(name: "Client", package: "pumpd"),
                .product(name: "Dissector", package: "pumpd"),
            ],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
        .executableTarget(
            name: "FuzzCapture",
            dependencies: [
                .product(name: "Capture", package: "pumpd"),
                .product(name: "Dissector", package: "pumpd"),
                .product(name: "Simulator", package: "pumpd"),
                .product(name: "Wire", package: "pumpd"),
            ],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
        .executableTarget(
            name: "FuzzProgramFile",
            dependencies: [
                .product(name: "ProgramFiles", package: "pumpd"),
                .product(name: "API", package: "pumpd"),
                .product(name: "Dissector", package: "pumpd"),
                .product(name: "Messages", package: "pumpd"),
            ],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
        .executableTarget(
            name: "FuzzKeyFile",
            dependencies: [
                .product(name: "Credentials", package: "pumpd"),
                .product(name: "Wire", package: "pumpd"),
            ],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
        .executableTarget(
            name: "FuzzConfig",
            dependencies: [
                .product(name: "Daemon", package: "pumpd"),
                .product(name: "Dissector", package: "pumpd"),
            ],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
        .executableTarget(
            name: "FuzzDrugLibrary",
            dependencies: [
                .product(name: "Daemon", package: "pumpd"),
                .product(name: "DoseSafety", package: "pumpd"),
                .product(name: "Dissector", package: "pumpd"),
                .product(name: "Messages", package: "pumpd"),
            ],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
        .executableTarget(
            name: "FuzzChunkScanner",
            dependencies: [
                .product(name: "Daemon", package: "pumpd"),
            ],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
        .executableTarget(
            name: "FuzzReview",
            dependencies: [
                .product(name: "Daemon", package: "pumpd"),
                .product(name: "DoseSafety", package: "pumpd"),
                .product(name: "Dissector", package: "pumpd"),
                .product(name: "Messages", package: "pumpd"),
            ],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
    ],
    swiftLanguageModes: [.v6]
)
