import Client
import Glibc

/// The question before a change to dosing. Asked only of a person: without
/// a terminal there is nobody to answer, and silently proceeding (or
/// silently doing nothing) would both be wrong, so the run stops and says
/// to pass --yes.
enum Confirmation {
    static func require(_ question: @autoclosure () -> String, yes: Bool) throws {
        if yes { return }
        guard isatty(0) == 1 else {
            Terminal.error("this changes dosing and needs a confirmation, but standard input is not a terminal; nothing was sent. Check the request, then pass --yes to confirm it in a script")
            throw Exit.usage
        }
        Terminal.writeAll(2, Array("\(question()) [y/N] ".utf8))
        let answer = readLine()?.trimmed(of: " \t").lowercased()
        guard answer == "y" || answer == "yes" else {
            Terminal.error("not confirmed; nothing was sent")
            throw ExitStatus.failed.exit
        }
    }
}

extension String {
    func trimmed(of set: String) -> String {
        let drop: (Character) -> Bool = { set.contains($0) }
        guard let start = firstIndex(where: { !drop($0) }) else { return "" }
        return String(self[start...lastIndex(where: { !drop($0) })!])
    }
}
