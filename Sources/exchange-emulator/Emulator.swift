import ArgumentParser
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Survey
import SwiftASN1
import X509

@main
struct ExchangeEmulator: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exchange-emulator",
        abstract: "Serve a fleet of emulated Exchange servers on loopback addresses (tests and demos only).",
        discussion: """
            Each server listens on its own 127.0.0.0/8 address (or ::1) and nowhere else. The fleet comes from a JSON Lines file \
            (--fleet) or is generated (--generate N). Once every socket is bound, the fleet is written to --manifest and \
            "ready <servers>" is printed on standard output. Runs until killed.
            """)

    @Option(help: "JSON Lines fleet file: ip, build, ssrf, shells, behavior, header, ecp, unknown.")
    var fleet: String?

    @Option(help: "Generate a mixed fleet of this many servers instead of reading --fleet.")
    var generate: Int?

    @Option(help: "First address of a generated fleet.")
    var first = "127.1.0.1"

    @Option(help: "Seed of a generated fleet.")
    var seed: UInt64 = 1

    @Option(help: "Comma-separated builds a generated fleet draws from.")
    var builds = "15.0.1497.2,15.0.1497.12,15.1.2106.2,15.1.2176.2,15.1.2176.9,15.1.2176.12,15.1.2242.4,15.1.2375.37,15.2.721.2,15.2.792.10,15.2.986.36,15.2.1118.7,15.2.1544.4"

    @Option(help: "Plain HTTP port (0: none).")
    var httpPort = 8080

    @Option(help: "HTTPS port (0: none).")
    var httpsPort = 8443

    @Option(help: "Delay of the `slow` behaviour, in seconds.")
    var slowSeconds: Int64 = 30

    @Option(help: "Write the fleet as served (JSON Lines) here once bound.")
    var manifest: String?

    @Option(help: "Event loop threads (default: number of cores).")
    var threads: Int?

    func run() throws {
        let servers: [ServerSpec]
        if let count = generate {
            servers = try Fleet.generate(count: count, first: first, builds: builds.split(separator: ",").map(String.init), seed: seed)
        } else if let fleet {
            servers = try Fleet.load(fleet)
        } else {
            throw ValidationError("give --fleet FILE or --generate N")
        }
        for s in servers where !(IPv4Address.parse(s.ip).map(IPv4Address.isLoopback) ?? (s.ip == "::1")) {
            throw ValidationError("\(s.ip) is not a 127.0.0.0/8 address or ::1: the emulator listens on loopback only")
        }
        raiseOpenFileLimit()
        unblockTerminationSignals()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads ?? System.coreCount)
        let tls = try httpsPort > 0 ? NIOSSLContext(configuration: Self.tlsConfiguration()) : nil
        let slow = slowSeconds
        var channels: [any Channel] = []
        for spec in servers {
            for (port, tls) in [(httpPort, nil as NIOSSLContext?), (httpsPort, tls)] where port > 0 {
                let bootstrap = ServerBootstrap(group: group)
                    .serverChannelOption(.backlog, value: 1024)
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .childChannelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            let sync = channel.pipeline.syncOperations
                            if let tls { try sync.addHandler(NIOSSLServerHandler(context: tls)) }
                            if ["garbage", "reset", "silent", "close"].contains(spec.behavior) {
                                try sync.addHandler(RawMisbehaviour(behavior: spec.behavior))
                            } else {
                                try sync.configureHTTPServerPipeline(withErrorHandling: true)
                                try sync.addHandler(EmulatedServer(spec: spec, slowSeconds: slow))
                            }
                        }
                    }
                do {
                    channels.append(try bootstrap.bind(host: spec.ip, port: port).wait())
                } catch {
                    throw EmulatorError("cannot listen on \(spec.ip):\(port): \(error)")
                }
            }
        }
        if let manifest {
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            let lines = try servers.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
            try (lines.joined(separator: "\n") + "\n").write(toFile: manifest, atomically: false, encoding: .utf8)
        }
        FileHandle.standardOutput.write(Data("ready \(servers.count)\n".utf8))
        try channels.first?.closeFuture.wait()
    }

    /// A throwaway self-signed certificate: surveys do not verify certificates by default.
    static func tlsConfiguration() throws -> TLSConfiguration {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName { CommonName("exchange-emulator.invalid") }
        let now = Date()
        let cert = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(86400 * 30),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions { SubjectAlternativeNames([.dnsName("exchange-emulator.invalid")]) },
            issuerPrivateKey: .init(key))
        return TLSConfiguration.makeServerConfiguration(
            certificateChain: [.certificate(try NIOSSLCertificate(bytes: Array(try cert.serializeAsPEM().pemString.utf8), format: .pem))],
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(key.pemRepresentation.utf8), format: .pem)))
    }
}
