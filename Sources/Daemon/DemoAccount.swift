import Accounts
import DaemonInput
import Foundation
import Logging

/// The simulator's demo clinician: made (or given a new password) at each
/// start with `--demo-account`, its password printed once on stderr and
/// never logged. Refused for a real pump before it gets here.
enum DemoAccount {
    static let name = "demo"

    static func make(_ accounts: AccountStore, config: DaemonConfig, logger: Logger) throws {
        guard config.isSimulator else {
            throw PumpDaemon.StartFailure(description: "--demo-account is for the embedded simulator only", exitCode: 78)
        }
        let password = randomPassword()
        do {
            _ = try accounts.reset(name, role: .clinician, password: password, by: "pumpd --demo-account (simulator)")
        } catch {
            throw PumpDaemon.StartFailure(description: "cannot make the demo account: \(error)", exitCode: 74)
        }
        logger.notice("station demo account ready (simulator only); its password went to stderr once", metadata: ["account": "\(name)", "kind": "security"])
        FileHandle.standardError.write(Data("""

            pumpd: SIMULATOR demo account for the station: name "\(name)", password "\(password)"
                   (a clinician on the simulated pump only; a new password at each start)

            """.utf8))
    }

    /// Four groups of five letters and digits without look-alikes (about 100 bits).
    static func randomPassword() -> String {
        let alphabet = Array("abcdefghjkmnpqrstuvwxyz23456789")
        var g = SystemRandomNumberGenerator()
        return (0..<4).map { _ in String((0..<5).map { _ in alphabet[Int(g.next(upperBound: UInt64(alphabet.count)))] }) }.joined(separator: "-")
    }
}
