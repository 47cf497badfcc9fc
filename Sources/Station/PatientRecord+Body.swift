import API
import Audit

/// A patient's record takes what a body gave (`PatientBody`, read once for
/// both edges): here, in the one module both edges import with `Audit`
/// (the API's socket routes use it too), so that neither copies the fields.
extension PatientRecord {
    public mutating func apply(_ body: PatientBody) {
        if let name = body.name { self.name = name }
        if let identifier = body.identifier { self.identifier = identifier }
        if let implantSerial = body.implantSerial { self.implantSerial = implantSerial }
        if let implantDate = body.implantDate { self.implantDate = implantDate }
        if let pumpModel = body.pumpModel { self.pumpModel = pumpModel }
        if let c = body.catheter {
            catheterLengthMm = c.lengthMm
            catheterNanolitresPerCm = c.nanolitresPerCm
            catheterVolumeNl = c.volumeNl
        }
    }
}
