#include "keysat/cli/serve_cli.hpp"

int main(int argc, char** argv) {
    return keysat::cli::serve_main(argc, argv);
}
