import Foundation
import PackagePlugin

/// Writes BuildStamp.swift (the version from VERSION, the git commit, the
/// build date) before every build, so `--version`, `/v1/health`, the first
/// log line and `pumpd_build_info` all say which code is running. A prebuild
/// command rather than a manifest constant because SwiftPM caches the
/// manifest: a constant read there would go stale on the next commit.
@main
struct BuildStamp: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let out = context.pluginWorkDirectoryURL.appending(path: "Stamp")
        let package = context.package.directoryURL
        return [
            .prebuildCommand(
                displayName: "Stamping the version, commit and build date",
                executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: [package.appending(path: "scripts/build-stamp").path, package.path, out.path],
                outputFilesDirectory: out)
        ]
    }
}
