import API
import Messages
import Station

/// What a browser may post to the station (application/x-www-form-urlencoded,
/// any bytes), read as the program editor, the bolus form and the refill form
/// read it, and the patient form. Beyond "no crash": an accepted program is valid by the ICD's
/// rules, an accepted bolus or refill is within the device's ranges, a
/// patient has its name, identifier and implant, and a
/// refusal names a field of the form, never the API's inner path.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzStationForm(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let form = Form(Substring(text))
    func named(_ e: APIError) {
        if let f = e.field { require(!f.contains("[") && !f.contains("."), "a refusal names an inner field \(f) for \(text.debugDescription)") }
    }
    do throws(APIError) {
        let p = try FormReading.program(form)
        require((try? p.validated()) != nil, "accepted a program the ICD's rules refuse: \(text.debugDescription)")
    } catch { named(error) }
    do throws(APIError) {
        let (b, _) = try FormReading.bolus(form)
        require(!b.dose.isZero && b.dose.u32 != nil && (1...1440).contains(b.duration.raw), "accepted bolus \(b)")
    } catch { named(error) }
    do throws(APIError) {
        let (request, _) = try FormReading.refill(form)
        let r = request.refill
        require(r.reservoir <= DeviceLimits.capacityIP40 && DeviceLimits.concentrations.contains(r.concentration), "accepted refill \(r)")
        require((request.withdrawn ?? .zero) <= DeviceLimits.capacityIP40, "accepted a withdrawn volume over 40 mL: \(request)")
    } catch { named(error) }
    do throws(APIError) {
        let (p, _) = try FormReading.patient(form)
        require(p.name != nil && p.identifier != nil && p.implantSerial != nil, "accepted a patient without name, identifier or implant: \(p)")
    } catch { named(error) }
    return 0
}

func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}
