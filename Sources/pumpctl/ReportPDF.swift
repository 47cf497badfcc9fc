import Client
import Foundation

/// A report's HTML printed to PDF by Debian's chromium, headless: a
/// well-kept renderer, the same engine the station is tested in, rather
/// than a PDF writer of our own.
enum ReportPDF {
    static let candidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]

    static func write(html: [UInt8], to path: String) throws {
        guard let browser = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            Terminal.error("no chromium to print the PDF with; install Debian's: apt-get install chromium (or leave out --pdf for the report as text, --json for JSON)")
            throw ExitStatus.unavailable.exit
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pumpctl-report-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(at: folder) }
        let source = folder.appendingPathComponent("report.html")
        try Data(html).write(to: source)
        let target = URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath)).standardizedFileURL
        let p = Process()
        p.executableURL = URL(fileURLWithPath: browser)
        // Root (as in CI) has no user namespace sandbox; the page is pumpd's own, with no script.
        p.arguments = [
            "--headless", "--disable-gpu", "--no-sandbox", "--no-pdf-header-footer", "--user-data-dir=\(folder.path)/profile",
            "--print-to-pdf=\(target.path)", source.absoluteString,
        ]
        p.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        let errors = Pipe()
        p.standardError = errors
        try p.run()
        let said = errors.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0, FileManager.default.fileExists(atPath: target.path) else {
            Terminal.error("chromium could not print the PDF (exit \(p.terminationStatus)): \(String(decoding: said.suffix(400), as: UTF8.self))")
            throw ExitStatus.internal.exit
        }
    }
}
