/// A transport could not be set up from the user's options: a key or
/// certificate file that is missing, malformed or too widely readable, an
/// unparsable `--bandwidth`... The message names the file or option and
/// what is wrong with it, ready to show as is.
public struct TransportSetupError: Error, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
