/* main: argv -> service or client command. */
#include <stdio.h>
#include <string.h>

#include "common/orc.h"

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("orchestrator %s\n", ORC_VERSION);
        return 0;
    }
    return 0;
}
