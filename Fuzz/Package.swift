// swift-tools-version: 6.1
// The libFuzzer harness for the RESP decoder lives in its own package so that the main package's
// builds and tests never see it. Build and run it with scripts/fuzz.sh.
import PackageDescription

let package = Package(
    name: "StrataFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        // Named explicitly: a path dependency's identity would otherwise be the checkout's
        // directory name, which differs between clones.
        .package(name: "Strata", path: ".."),
        // Already a dependency of Strata; named here only to import NIOCore (ByteBuffer).
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .executableTarget(
            name: "FuzzRESP",
            dependencies: [
                .product(name: "RESP", package: "Strata"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
