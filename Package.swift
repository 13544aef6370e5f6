// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "pipeline-service",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "pipeline-service", targets: ["pipeline-service"]),
        .library(name: "PipelineCore", targets: ["PipelineCore"]),
        .library(name: "PipelineStore", targets: ["PipelineStore"]),
        .library(name: "PipelineDashboard", targets: ["PipelineDashboard"]),
        .library(name: "PipelineServer", targets: ["PipelineServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // The domain: models, validation, the pure query module. No I/O.
        .target(
            name: "PipelineCore",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        // The repository protocol and its three backends.
        .target(
            name: "PipelineStore",
            dependencies: [
                "PipelineCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The built-in dashboard's pages, rendered from values already loaded: no I/O, no HTTP.
        .target(
            name: "PipelineDashboard",
            dependencies: ["PipelineCore"],
            swiftSettings: swiftSettings
        ),
        // The system zlib, for gzip request bodies (OpenLineage clients compress).
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        // HTTP: buildApplication, controllers, middleware, configuration → repository.
        .target(
            name: "PipelineServer",
            dependencies: [
                "PipelineCore",
                "PipelineStore",
                "PipelineDashboard",
                "CZlib",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The executable: argument parsing and subcommands, nothing else.
        .executableTarget(
            name: "pipeline-service",
            dependencies: [
                "PipelineCore",
                "PipelineStore",
                "PipelineServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // Shared by the test targets: backend fixtures and deterministic random runs.
        .target(
            name: "PipelineTestSupport",
            dependencies: [
                "PipelineCore",
                "PipelineStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            path: "Tests/PipelineTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PipelineCoreTests",
            dependencies: ["PipelineCore", "PipelineTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PipelineStoreTests",
            dependencies: [
                "PipelineStore",
                "PipelineCore",
                "PipelineTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PipelineDashboardTests",
            dependencies: ["PipelineDashboard", "PipelineCore", "PipelineTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PipelineServerTests",
            dependencies: [
                "PipelineServer",
                "PipelineDashboard",
                "PipelineStore",
                "PipelineCore",
                "PipelineTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            // Events the real OpenLineage client sent, read by path like the reference DDL.
            exclude: ["Resources"],
            swiftSettings: swiftSettings
        ),
    ]
)
