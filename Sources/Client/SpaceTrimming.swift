/// HTTP's optional whitespace (space and tab, RFC 9110 §5.6.3), and nothing
/// else: a header value never loses a character the server meant.
extension StringProtocol {
    func trimmingSpaceAndTab() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[start...end])
    }
}
