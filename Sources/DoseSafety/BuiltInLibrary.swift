import Foundation

extension DrugLibrary {
    /// The library pumpd ships (spec/drug-library.json), used unless a clinic's is configured.
    public static func builtIn() throws -> DrugLibrary {
        guard let url = Bundle.module.url(forResource: "drug-library", withExtension: "json"),
            let text = try? String(contentsOf: url, encoding: .utf8)
        else { throw Problem(description: "the built-in drug library is missing from this build") }
        return try parse(text)
    }

    public static func load(path: String) throws -> DrugLibrary {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw Problem(description: "cannot read the drug library \(path)")
        }
        return try parse(text)
    }
}
