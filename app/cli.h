// The rtdet command line: the subcommands a build has (app/commands.h), parsed and run. main.cpp calls
// it, and so does the Python module's `python3 -m rtdet` (python/src/module.cpp), so both run the same
// code.
#pragma once

namespace app {

// Parses argv (argv[0] is the program's name, shown in --help), sets up logging to stderr and runs the
// subcommand. Returns the exit code: the command's, 1 after an error (printed as one line "rtdet: error:
// ..." on stderr), CLI11's for --help, --version and bad arguments. Callable more than once in one
// process.
int run_cli(int argc, char** argv);

}  // namespace app
