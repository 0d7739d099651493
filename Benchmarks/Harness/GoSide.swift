// Getting the Go reference binary: find the `go` tool (installing the
// distribution's golang-go with apt only when asked to, as root), build
// Benchmarks/go into .build/gobench, and say why Go is skipped otherwise.

import Glibc

enum GoSide {
    /// The Go binary to run, or the reason there is none.
    struct Prepared {
        var binary: String?
        var version = "not available"
        var skipReason: String?
    }

    /// Benchmarks/go, found from this source file's compile-time path, or
    /// from the working directory.
    static func sourceDirectory() -> String? {
        let harnessFile = "\(#filePath)"
        var candidates: [String] = []
        if let slash = harnessFile.lastIndex(of: "/") {
            candidates.append(String(harnessFile[..<slash]) + "/../go")
        }
        candidates.append("Benchmarks/go")
        return candidates.first { access($0 + "/go.mod", R_OK) == 0 }.map(canonicalPath)
    }

    static func prepare(prebuilt: String?, install: Bool, timeoutSeconds: Double) -> Prepared {
        var prepared = Prepared()
        var goTool = locateGoTool()
        if goTool == nil, prebuilt == nil, install {
            goTool = installGo(&prepared)
        }
        if let goTool {
            let version = runChild(goTool, ["version"], timeoutSeconds: 30)
            if version.succeeded {
                prepared.version = version.stdout.trimmedLine
            }
        }

        if let prebuilt {
            guard access(prebuilt, X_OK) == 0 else {
                prepared.skipReason = "\(prebuilt) is not an executable"
                return prepared
            }
            prepared.binary = prebuilt
            if goTool == nil { prepared.version = "prebuilt \(prebuilt)" }
            return prepared
        }
        guard let goTool else {
            if prepared.skipReason == nil {
                prepared.skipReason =
                    "go not found in PATH (pass --install-go, as root, to apt-get install "
                    + "golang-go)"
            }
            return prepared
        }
        guard let source = sourceDirectory() else {
            prepared.skipReason = "Benchmarks/go not found (run from the package root)"
            return prepared
        }

        let buildDirectory = canonicalPath(source + "/../..") + "/.build"
        mkdir(buildDirectory, 0o755)
        let output = buildDirectory + "/gobench"
        let build = runChild(
            goTool, ["build", "-o", output, "."], timeoutSeconds: timeoutSeconds,
            workingDirectory: source)
        guard build.succeeded else {
            prepared.skipReason = "go build failed: \(build.failureSummary)"
            return prepared
        }
        prepared.binary = output
        return prepared
    }

    /// `go` from PATH, or from the usual install places.
    private static func locateGoTool() -> String? {
        if let found = findInPath("go") { return found }
        return ["/usr/local/go/bin/go", "/usr/lib/go/bin/go"].first { access($0, X_OK) == 0 }
    }

    /// Installs golang-go with apt-get, if this process may. Returns the tool.
    private static func installGo(_ prepared: inout Prepared) -> String? {
        guard geteuid() == 0 else {
            prepared.skipReason = "go not found, and --install-go needs root for apt-get"
            return nil
        }
        guard let apt = findInPath("apt-get") else {
            prepared.skipReason = "go not found, and apt-get is not available to install it"
            return nil
        }
        note("goroutines-bench: installing golang-go with apt-get")
        var install = runChild(apt, ["install", "-y", "golang-go"], timeoutSeconds: 900)
        if !install.succeeded {
            _ = runChild(apt, ["update"], timeoutSeconds: 900)
            install = runChild(apt, ["install", "-y", "golang-go"], timeoutSeconds: 900)
        }
        guard install.succeeded, let tool = locateGoTool() else {
            prepared.skipReason = "apt-get install golang-go failed: \(install.failureSummary)"
            return nil
        }
        return tool
    }
}

/// `path` with symbolic links and `..` resolved, or `path` itself.
func canonicalPath(_ path: String) -> String {
    guard let resolved = realpath(path, nil) else { return path }
    defer { free(resolved) }
    return String(cString: resolved)
}

extension String {
    /// The first line, without surrounding blanks.
    var trimmedLine: String {
        (split(separator: "\n").first ?? "").trimmed(of: " \t\r")
    }
}
