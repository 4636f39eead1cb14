#include "keysat/cli/verify_cli.hpp"

int main(int argc, char** argv) {
    return keysat::cli::verify_main(argc, argv);
}
