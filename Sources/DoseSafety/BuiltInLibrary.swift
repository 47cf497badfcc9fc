import Foundation

extension DrugLibrary {
    /// The text of the library pumpd ships (spec/drug-library.json links to
    /// it), used unless a clinic's is configured; `DrugLibrary.builtIn()`
    /// (API) reads it.
    public static func builtInText() throws(Problem) -> String {
        guard let url = Bundle.module.url(forResource: "drug-library", withExtension: "json"),
            let text = try? String(contentsOf: url, encoding: .utf8)
        else { throw Problem(description: "the built-in drug library is missing from this build") }
        return text
    }
}
