#include "keysat/cli/issue_cli.hpp"

int main(int argc, char** argv) {
    return keysat::cli::issue_main(argc, argv);
}
