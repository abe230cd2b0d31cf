// swift-tools-version: 6.1
import PackageDescription

let strictSwift6: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Strata",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "RESP", targets: ["RESP"]),
        .library(name: "Redis", targets: ["Redis"]),
        .library(name: "RedisServerHarness", targets: ["RedisServerHarness"]),
        .library(name: "Strata", targets: ["Strata"]),
        .library(name: "StrataRedis", targets: ["StrataRedis"]),
        .library(name: "StrataOperations", targets: ["StrataOperations"]),
        .library(name: "StrataHummingbird", targets: ["StrataHummingbird"]),
        .executable(name: "strata", targets: ["strata"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
    ],
    targets: [
        .target(
            name: "RESP",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strictSwift6
        ),
        .target(
            name: "Redis",
            dependencies: [
                "RESP",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSwift6
        ),
        .systemLibrary(
            name: "CZlib",
            path: "Sources/CZlib",
            providers: [.apt(["zlib1g-dev"]), .brew(["zlib"])]
        ),
        .target(
            name: "Strata",
            dependencies: [
                "CZlib",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSwift6
        ),
        .target(
            name: "StrataRedis",
            dependencies: [
                "Strata",
                "Redis",
                "RESP",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSwift6
        ),
        .target(
            name: "StrataHummingbird",
            dependencies: [
                "Strata",
                "StrataRedis",
                "Redis",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            exclude: ["Resources"],
            swiftSettings: strictSwift6
        ),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite"),
        .target(
            name: "StrataDemo",
            dependencies: [
                "Strata", "StrataRedis", "Redis", "RESP", "RedisServerHarness", "CSQLite",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSwift6
        ),
        .target(
            name: "StrataOperations",
            dependencies: [
                "Strata",
                "Redis",
                "RESP",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift6
        ),
        .target(
            name: "RedisServerHarness",
            dependencies: [],
            swiftSettings: strictSwift6
        ),
        .executableTarget(
            name: "strata",
            dependencies: [
                "Redis",
                "Strata",
                "StrataRedis",
                "StrataDemo",
                "StrataOperations",
                "RedisServerHarness",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSwift6
        ),
        .testTarget(
            name: "RESPTests",
            dependencies: ["RESP", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strictSwift6
        ),
        .testTarget(
            name: "RedisServerHarnessTests",
            dependencies: [
                "RedisServerHarness",
                "RESP",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strictSwift6
        ),
        .testTarget(
            name: "RedisStateMachineTests",
            dependencies: [
                "Redis",
                "RESP",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strictSwift6
        ),
        .testTarget(
            name: "RedisClusterTests",
            dependencies: [
                "Redis",
                "RESP",
                "RedisServerHarness",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strictSwift6
        ),
        .testTarget(
            name: "StrataTests",
            dependencies: ["Strata", .product(name: "MetricsTestKit", package: "swift-metrics")],
            exclude: ["Resources/README.md", "Resources/LICENSE-cache2k-traces.txt"],
            resources: [.copy("Resources/web07.trace.xz")],
            swiftSettings: strictSwift6
        ),
        .testTarget(
            name: "StrataDemoTests",
            dependencies: ["StrataDemo", "RedisServerHarness"],
            swiftSettings: strictSwift6
        ),
        .testTarget(
            name: "StrataRedisTests",
            dependencies: [
                "Strata", "StrataRedis", "StrataDemo", "Redis", "RedisServerHarness",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            swiftSettings: strictSwift6
        ),
        .testTarget(
            name: "StrataOperationsTests",
            dependencies: [
                "StrataOperations",
                "Strata",
                "StrataRedis",
                "Redis",
                "RESP",
                "RedisServerHarness",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            exclude: ["Fixtures"],
            swiftSettings: strictSwift6
        ),
        .testTarget(
            name: "StrataHummingbirdTests",
            dependencies: [
                "StrataHummingbird", "Strata", "StrataRedis", "Redis", "RedisServerHarness",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            swiftSettings: strictSwift6
        ),
        .testTarget(
            name: "RedisTests",
            dependencies: [
                "Redis",
                "RedisServerHarness",
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            swiftSettings: strictSwift6
        ),
    ],
    swiftLanguageModes: [.v6]
)
