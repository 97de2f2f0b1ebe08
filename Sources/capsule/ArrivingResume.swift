import Capsule
import Foundation
import Migration

/// What `fetch --run --demand` and `serve --run` share: wait until the
/// capsule arriving through `demand` is runnable, then resume it on a store
/// object of its own (the transfer's thread has the other one, and store
/// objects are single-threaded). When the transfer committed before it
/// was ever runnable, the capsule is resumed whole and `arriving` is nil.
/// `command` labels the messages ("capsule fetch"); `transfer` names the
/// transfer in a failure ("fetch of 'web' from host:7000").
func resumeArriving(_ name: String, demand: DemandRequests, storeOptions: StoreOptions,
                    command: String, transfer: String) throws -> (capsule: MachineCapsule, arriving: ArrivingCapsule?) {
    var runnable: DemandRequests.Runnable?
    while true {
        do {
            runnable = try demand.waitRunnable(timeout: 5)
            break
        } catch {
            if case .never(let why) = error { throw CommandFailure("\(transfer) failed: \(why)") }
            stderrLine("\(command): still waiting for the state of '\(name)'")
        }
    }
    let store = try openStore(storeOptions)
    do {
        let arriving = try runnable.map { try ArrivingCapsule($0, store: store, demand: demand) }
        return (try arriving?.capsule ?? MachineCapsule(resuming: name, store: store), arriving)
    } catch {
        throw CommandFailure("\(command): cannot resume the arriving capsule '\(name)': \(error)")
    }
}
