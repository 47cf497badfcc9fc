/// Request bodies the tests send, written as a client would write them.
enum Bodies {
    static let refill = #"{"drug":"morphine","concentration":{"value":"10","unit":"mg/mL"},"reservoir":{"value":"40","unit":"mL"},"low_alarm":{"value":"4","unit":"mL"}}"#
    static let daily = #"{"mode":"daily","utc_offset_min":60,"patient_bolus":{"dose":{"value":"0.1","unit":"mg"},"lockout":{"value":"2","unit":"h"},"max_per_day":4},"steps":[{"start_min":0,"rate":{"value":"2.4","unit":"mg/day"}},{"start_min":480,"rate":{"value":"3","unit":"mg/day"}}]}"#
    static let continuous = #"{"mode":"continuous","steps":[{"start_min":0,"rate":{"value":"1.5","unit":"mg/day"}}]}"#
    static let bolus = #"{"dose":{"value":"0.5","unit":"mg"},"duration":{"value":"30","unit":"min"}}"#
}
