import Foundation

extension DrugLibrary {
    /// The library pumpd ships (spec/drug-library.json), used unless a clinic's is configured.
    public static func builtIn() throws -> DrugLibrary {
        guard let url = Bundle.module.url(forResource: "drug-library", withExtension: "json"),
            let text = try? String(contentsOf: url, encoding: .utf8)
        else { throw Problem(description: "the built-in drug library is missing from this build") }
        return try parse(text)
    }

    /// A library file is tens of kilobytes; a bound keeps a wrong path (/dev/zero) from filling memory.
    public static let maxFileBytes = 4 << 20

    public static func load(path: String) throws -> DrugLibrary {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw Problem(description: "cannot read the drug library \(path)")
        }
        defer { try? handle.close() }
        let data: Data
        do { data = try handle.read(upToCount: maxFileBytes + 1) ?? Data() } catch {
            throw Problem(description: "cannot read the drug library \(path): \(error.localizedDescription)")
        }
        guard data.count <= maxFileBytes else {
            throw Problem(description: "the drug library \(path) is larger than \(maxFileBytes >> 20) MiB; is it the right file?")
        }
        guard let text = String(validating: Array(data), as: UTF8.self) else {
            throw Problem(description: "the drug library \(path) is not UTF-8 text")
        }
        return try parse(text)
    }
}
