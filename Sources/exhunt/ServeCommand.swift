import ArgumentParser
import CaseStore
import Dashboard
import Foundation

/// `exhunt serve`: the case store as a web dashboard for the team working the fleet.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the case store as a web dashboard (and its JSON API): hosts, verdicts, timeline, pivots, notes and overrides.",
        discussion: """
            Binds to 127.0.0.1 by default, where anyone on this machine acts as --analyst. Any other address \
            needs accounts (--users FILE, made with `exhunt serve add-user`): every page then asks to sign in, \
            a reader account may only read, and sign-in attempts are limited per address. Give --tls-cert and \
            --tls-key to serve HTTPS (session cookies are then Secure). Every change is recorded in the case's \
            audit log with who made it.
            """,
        subcommands: [Start.self, AddUser.self],
        defaultSubcommand: Start.self)

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "start", abstract: "Serve the dashboard (the default).")

        @OptionGroup var store: CaseOptions

        @Option(help: "The address to listen on. Anything but 127.0.0.1, ::1 or localhost needs --users.")
        var bind = "127.0.0.1"

        @Option(help: "The port (0: any free one; the address is printed).")
        var port = 8021

        @Option(help: ArgumentHelp("Accounts file (name:role:bcrypt-hash lines, made with `exhunt serve add-user`).", valueName: "FILE"))
        var users: String?

        @Option(name: .customLong("tls-cert"), help: ArgumentHelp("PEM certificate chain for HTTPS.", valueName: "FILE"))
        var tlsCert: String?

        @Option(name: .customLong("tls-key"), help: ArgumentHelp("PEM private key for HTTPS.", valueName: "FILE"))
        var tlsKey: String?

        @Option(help: "Connections to the case store the pages share.")
        var connections = 4

        @Option(help: "Seconds between a page's checks for changes (live updates).")
        var poll = 5

        func validate() throws {
            if store.location == nil { throw ValidationError("give --case DB (or set EXHUNT_CASE)") }
            if !(0...65_535).contains(port) { throw ValidationError("--port must be 0 to 65535") }
            if !(1...32).contains(connections) { throw ValidationError("--connections must be 1 to 32") }
            if !(1...3_600).contains(poll) { throw ValidationError("--poll must be 1 to 3600 seconds") }
        }

        func run() async throws {
            guard let location = store.location else { throw ExitCode(2) }
            var accounts: Accounts?
            if let users {
                do { accounts = try Accounts(contentsOf: URL(fileURLWithPath: users)) } catch {
                    Terminal.error("cannot read the accounts file \(users): \(error)")
                    throw ExitCode(2)
                }
            }
            let configuration = DashboardConfiguration(location: CaseLocation(location), caseName: store.caseName, host: bind, port: port,
                                                       analyst: store.who, accounts: accounts, tlsCertificate: tlsCert, tlsKey: tlsKey,
                                                       connections: connections, pollSeconds: poll)
            do {
                try configuration.validate()
                try await Dashboard.run(configuration) { url in
                    // Standard output carries the address (scripts and tests read it); the rest goes to standard error.
                    try? Terminal.write(Data("exhunt serve: listening on \(url) (case \(store.caseName) in \(CaseLocation(location)))\n".utf8))
                }
            } catch let e as DashboardError {
                Terminal.error("\(e)")
                throw ExitCode(2)
            }
        }
    }

    struct AddUser: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-user",
            abstract: "Add or replace a dashboard account; the password is read from standard input (one line, 12 characters or more).")

        @Option(help: ArgumentHelp("The accounts file (created when missing).", valueName: "FILE"))
        var users: String

        @Option(help: "analyst (reads, notes, tags, overrides) or reader (reads only).")
        var role: String = "analyst"

        @Argument(help: "The account's name.")
        var name: String

        func run() throws {
            guard let role = DashboardRole(rawValue: role) else { throw ValidationError("--role is analyst or reader") }
            guard let line = readLine(strippingNewline: true), !line.isEmpty else { throw ValidationError("give the password on standard input") }
            let url = URL(fileURLWithPath: users)
            let old = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
            do {
                let text = try Accounts.adding(name: name, role: role, password: line, to: old)
                try Data(text.utf8).write(to: url, options: .atomic)
                // Hashes are not passwords, but nobody else needs to read them.
                try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: url.path)
            } catch let e as DashboardError {
                throw ValidationError(e.description)
            }
            Terminal.status("\(name) (\(role.rawValue)) written to \(users)\n")
        }
    }
}
