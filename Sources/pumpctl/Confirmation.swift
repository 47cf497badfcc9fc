import Client
import Glibc

/// The question before a change to dosing. Asked only of a person: without
/// a terminal there is nobody to answer, and silently proceeding (or
/// silently doing nothing) would both be wrong, so the run stops and says
/// to pass --yes.
enum Confirmation {
    static func require(_ question: @autoclosure () -> String, yes: Bool) throws {
        if yes { return }
        try possible(yes: yes)
        Terminal.writeAll(2, Array("\(question()) [y/N] ".utf8))
        let answer = readLine()?.trimmed(of: " \t").lowercased()
        guard answer == "y" || answer == "yes" else {
            Terminal.error("not confirmed; nothing was sent")
            throw ExitStatus.failed.exit
        }
    }

    /// Stops the run (64) when a confirmation will be needed and cannot be
    /// asked, so a script learns it before pumpctl sends anything, even a review.
    static func possible(yes: Bool) throws {
        guard !yes, isatty(0) != 1 else { return }
        Terminal.error("this changes dosing and needs a confirmation, but standard input is not a terminal; nothing was sent. Check the request (`program review`, or run it from a terminal), then pass --yes to confirm it in a script")
        throw Exit.usage
    }
}

extension String {
    func trimmed(of set: String) -> String {
        let drop: (Character) -> Bool = { set.contains($0) }
        guard let start = firstIndex(where: { !drop($0) }), let end = lastIndex(where: { !drop($0) }) else { return "" }
        return String(self[start...end])
    }
}
