/// Which code is running: the version (the VERSION file), the git commit it
/// was built from (with "-modified" when the tree had uncommitted changes) and
/// the day it was built, stamped by the BuildStamp plugin at each build.
/// `--version`, `/v1/health`, pumpd's first log line and `pumpd_build_info`
/// all read it here.
public enum BuildInfo {
    public static let version = BuildStamp.version
    public static let commit = BuildStamp.commit
    public static let date = BuildStamp.date

    /// What `--version` prints: `pumpd 0.17.0 (commit 0123456789ab, built 2026-12-06)`.
    public static func versionText(_ program: String) -> String {
        "\(program) \(version) (commit \(commit), built \(date))"
    }
}
