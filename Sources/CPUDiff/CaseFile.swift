import Foundation

/// Errors raised while reading a CPUDIFF1 case stream.
public enum CaseFileError: Error, CustomStringConvertible {
    case cannotOpen(String, Int32)
    case readFailed(Int32)
    case badMagic([UInt8])
    case unsupportedVersion(UInt32)
    case truncated(String)
    case invalid(String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let err): return "cannot open \(path): \(String(cString: strerror(err)))"
        case .readFailed(let err): return "read failed: \(String(cString: strerror(err)))"
        case .badMagic(let b):
            return "not a CPUDIFF1 case file (magic bytes \(b.map { String(format: "%02x", $0) }.joined(separator: " ")))"
        case .unsupportedVersion(let v): return "unsupported CPUDIFF1 version \(v) (this reader knows versions 1 and 2)"
        case .truncated(let what): return "case stream ends in the middle of \(what)"
        case .invalid(let what): return "invalid case stream: \(what)"
        }
    }
}

/// The file header: where the generator placed code, data and stack, and
/// the names of its instruction forms (cases refer to forms by index).
public struct CaseFileHeader: Sendable {
    public var version: UInt32
    public var count: UInt32
    public var seed: UInt64
    public var codeBase: UInt32
    public var dataBase: UInt32
    public var dataSize: Int
    public var stackBase: UInt32
    public var stackSize: Int
    public var formNames: [String]

    public func formName(_ id: UInt16) -> String {
        Int(id) < formNames.count ? formNames[Int(id)] : "form#\(id)"
    }
}

/// One generated case: code, initial state and the state the host CPU reached.
public struct DiffCase: Sendable {
    public var index: UInt32
    public var forms: [UInt16]
    public var code: [UInt8]
    public var initialGPRs: [UInt32]
    public var initialEFLAGS: UInt32
    public var initialData: [UInt8]
    public var initialStack: [UInt8]
    /// The exception vector the host raised (0 #DE, 6 #UD), nil when none.
    public var expectedVector: UInt8?
    /// EFLAGS bits to compare (1 = compared).
    public var flagsMask: UInt32
    /// EIP at the end: the end of the code, or the faulting instruction
    /// (version 2; nil in version 1 files, whose fault states are not compared).
    public var finalEIP: UInt32?
    public var finalGPRs: [UInt32]
    public var finalEFLAGS: UInt32
    public var finalData: [UInt8]
    public var finalStack: [UInt8]
}

/// Buffered reading from a file descriptor (a file or a pipe).
final class ByteReader {
    private let fd: Int32
    private let ownsFD: Bool
    private var buf: UnsafeMutableRawPointer
    private let capacity = 1 << 20
    private var start = 0
    private var end = 0
    private var eof = false
    private(set) var consumed: UInt64 = 0

    init(fileDescriptor: Int32, owns: Bool) {
        fd = fileDescriptor
        ownsFD = owns
        buf = .allocate(byteCount: capacity, alignment: 16)
    }

    deinit {
        buf.deallocate()
        if ownsFD { close(fd) }
    }

    /// Makes at least `n` bytes available; false at a clean end of stream.
    private func fill(_ n: Int) throws -> Bool {
        if end - start >= n { return true }
        if start > 0 {
            memmove(buf, buf + start, end - start)
            end -= start
            start = 0
        }
        while end - start < n && !eof {
            let r = read(fd, buf + end, capacity - end)
            if r < 0 {
                if errno == EINTR { continue }
                throw CaseFileError.readFailed(errno)
            }
            if r == 0 { eof = true } else { end += r }
        }
        return end - start >= n
    }

    /// True when no byte is left.
    func atEnd() throws -> Bool { try !fill(1) }

    func bytes(_ n: Int, _ what: String) throws -> [UInt8] {
        guard try fill(n) else { throw CaseFileError.truncated(what) }
        let out = [UInt8](UnsafeRawBufferPointer(start: buf + start, count: n))
        start += n
        consumed += UInt64(n)
        return out
    }

    func u8(_ what: String) throws -> UInt8 {
        guard try fill(1) else { throw CaseFileError.truncated(what) }
        let v = buf.load(fromByteOffset: start, as: UInt8.self)
        start += 1
        consumed += 1
        return v
    }

    func u16(_ what: String) throws -> UInt16 {
        guard try fill(2) else { throw CaseFileError.truncated(what) }
        let v = UInt16(buf.load(fromByteOffset: start, as: UInt8.self))
            | UInt16(buf.load(fromByteOffset: start + 1, as: UInt8.self)) << 8
        start += 2
        consumed += 2
        return v
    }

    func u32(_ what: String) throws -> UInt32 {
        guard try fill(4) else { throw CaseFileError.truncated(what) }
        var v: UInt32 = 0
        for i in 0..<4 { v |= UInt32(buf.load(fromByteOffset: start + i, as: UInt8.self)) << (8 * UInt32(i)) }
        start += 4
        consumed += 4
        return v
    }

    func u32s(_ n: Int, _ what: String) throws -> [UInt32] {
        var out = [UInt32]()
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(try u32(what)) }
        return out
    }
}

/// Reads a CPUDIFF1 stream case by case (see docs/cpu-differential-testing.md).
public final class CaseReader {
    public let header: CaseFileHeader
    private let reader: ByteReader
    private var read = 0

    /// Reads from a file descriptor (the reader does not close it unless `closeWhenDone`).
    public init(fileDescriptor: Int32, closeWhenDone: Bool = false) throws {
        reader = ByteReader(fileDescriptor: fileDescriptor, owns: closeWhenDone)
        header = try CaseReader.readHeader(reader)
    }

    /// Opens and reads a case file.
    public convenience init(path: String) throws {
        let fd = open(path, O_RDONLY)
        if fd < 0 { throw CaseFileError.cannotOpen(path, errno) }
        try self.init(fileDescriptor: fd, closeWhenDone: true)
    }

    private static func readHeader(_ r: ByteReader) throws -> CaseFileHeader {
        let magic = try r.bytes(8, "the magic")
        guard magic == Array("CPUDIFF1".utf8) else { throw CaseFileError.badMagic(magic) }
        let version = try r.u32("the header")
        guard version == 1 || version == 2 else { throw CaseFileError.unsupportedVersion(version) }
        let count = try r.u32("the header")
        let seedLo = try r.u32("the header"), seedHi = try r.u32("the header")
        let codeBase = try r.u32("the header"), dataBase = try r.u32("the header")
        let dataSize = try r.u32("the header"), stackBase = try r.u32("the header")
        let stackSize = try r.u32("the header")
        let nforms = try r.u32("the header")
        guard dataSize > 0, dataSize <= 1 << 20, stackSize > 0, stackSize <= 1 << 20 else {
            throw CaseFileError.invalid("window sizes \(dataSize)/\(stackSize)")
        }
        guard nforms < 65536 else { throw CaseFileError.invalid("\(nforms) forms") }
        var names = [String]()
        names.reserveCapacity(Int(nforms))
        for _ in 0..<nforms {
            let n = Int(try r.u8("the form table"))
            names.append(String(decoding: try r.bytes(n, "the form table"), as: UTF8.self))
        }
        return CaseFileHeader(version: version, count: count, seed: UInt64(seedHi) << 32 | UInt64(seedLo),
                              codeBase: codeBase, dataBase: dataBase, dataSize: Int(dataSize),
                              stackBase: stackBase, stackSize: Int(stackSize), formNames: names)
    }

    /// The next case, or nil after the last one the header announced.
    public func next() throws -> DiffCase? {
        if read >= Int(header.count) {
            return nil
        }
        if try reader.atEnd() {
            throw CaseFileError.truncated("the stream: \(read) of \(header.count) cases present")
        }
        let what = "case \(read)"
        let index = try reader.u32(what)
        let codeLen = Int(try reader.u8(what))
        let nf = Int(try reader.u8(what))
        guard codeLen > 0 else { throw CaseFileError.invalid("\(what) has no code") }
        var forms = [UInt16]()
        for _ in 0..<nf {
            let f = try reader.u16(what)
            guard Int(f) < header.formNames.count else { throw CaseFileError.invalid("\(what) names form \(f)") }
            forms.append(f)
        }
        let code = try reader.bytes(codeLen, what)
        let iregs = try reader.u32s(8, what)
        let iflags = try reader.u32(what)
        let idata = try reader.bytes(header.dataSize, what)
        let istack = try reader.bytes(header.stackSize, what)
        let vector = try reader.u8(what)
        let mask = try reader.u32(what)
        let feip: UInt32? = header.version >= 2 ? try reader.u32(what) : nil
        let fregs = try reader.u32s(8, what)
        let fflags = try reader.u32(what)
        let fdata = try reader.bytes(header.dataSize, what)
        let fstack = try reader.bytes(header.stackSize, what)
        read += 1
        return DiffCase(index: index, forms: forms, code: code, initialGPRs: iregs, initialEFLAGS: iflags,
                        initialData: idata, initialStack: istack,
                        expectedVector: vector == 0xFF ? nil : vector, flagsMask: mask, finalEIP: feip,
                        finalGPRs: fregs, finalEFLAGS: fflags, finalData: fdata, finalStack: fstack)
    }
}
