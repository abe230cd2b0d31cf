// swift-tools-version: 6.1
import PackageDescription

// A separate package so the main package never depends on swift-prometheus: applications pick
// their own metrics backend.
let package = Package(
    name: "PrometheusExample",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Strata", path: "../.."),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        .executableTarget(
            name: "PrometheusExample",
            dependencies: [
                .product(name: "Strata", package: "Strata"),
                .product(name: "StrataRedis", package: "Strata"),
                .product(name: "Redis", package: "Strata"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        )
    ],
    swiftLanguageModes: [.v6]
)
