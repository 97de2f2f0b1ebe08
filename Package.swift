// swift-tools-version:6.0
import PackageDescription

// The interpreter's hot path relies on these: exclusivity checks on every
// access to the CPU's stored properties would cost more than the work itself.
let fastSettings: [SwiftSetting] = [
    .unsafeFlags(["-enforce-exclusivity=unchecked"]),
]

let package = Package(
    name: "Capsule",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "capsule", targets: ["capsule"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .target(name: "X86", swiftSettings: fastSettings),
        .target(name: "PC", dependencies: ["X86"], resources: [.copy("Resources/bios.bin")], swiftSettings: fastSettings),
        .executableTarget(
            name: "capsule",
            dependencies: [
                "X86",
                "PC",
                "Debugger",
                "Capsule",
                "Migration",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: fastSettings
        ),
        .target(name: "CPUDiff", dependencies: ["X86"]),
        .systemLibrary(name: "CLZ4", path: "Sources/CLZ4", pkgConfig: "liblz4",
                       providers: [.apt(["liblz4-dev"]), .brew(["lz4"])]),
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "openssl",
                       providers: [.apt(["libssl-dev"]), .brew(["openssl@3"])]),
        .target(name: "Capsule", dependencies: ["CLZ4", "COpenSSL", "PC", "X86"], swiftSettings: fastSettings),
        .target(name: "Migration", dependencies: ["Capsule", "PC", "X86", "CLZ4", "COpenSSL"]),
        .testTarget(name: "X86Tests", dependencies: ["X86"]),
        .testTarget(name: "CPUDiffTests", dependencies: ["CPUDiff"]),
        .testTarget(name: "MachineTests", dependencies: ["PC", "X86"]),
        .testTarget(name: "CapsuleTests", dependencies: ["Capsule", "PC", "X86"]),
        .testTarget(name: "PCTests", dependencies: ["PC", "X86"]),
        .target(name: "Debugger", dependencies: ["X86", "PC"], swiftSettings: fastSettings),
        .testTarget(name: "DebuggerTests", dependencies: ["Debugger", "X86", "PC", "Capsule"]),
        .testTarget(name: "MigrationTests", dependencies: ["Migration", "Capsule", "COpenSSL", "PC", "X86"]),
    ],
    swiftLanguageModes: [.v5]
)
