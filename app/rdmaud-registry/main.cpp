/* SPDX-License-Identifier: BSD-3-Clause */
#include "cli.h"

int main(int argc, char** argv) {
    rdmaud::registry::cli::Options o;
    if (!rdmaud::registry::cli::parse_args(argc, argv, &o))
        return rdmaud::registry::cli::kExitUsage;
    return rdmaud::registry::cli::run(o);
}
