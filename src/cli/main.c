/*
 * main.c — the onnxq tool: dispatches to one subcommand per file.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

typedef struct command {
    const char *name;
    cli_command_fn fn;
    const char *summary;
} command;

static const command commands[] = {
    {"layers", cmd_layers, "list the nodes of a model (index, name, op, inputs)"},
    {"info", cmd_info, "summarise a model: opsets, inputs/outputs, parameters"},
    {"check", cmd_check, "check a model for structural problems"},
    {"save", cmd_save, "re-write a model, moving weights to/from external data"},
    {"run", cmd_run, "run a model on inputs from files (or generated ones)"},
    {"bench", cmd_bench, "time a model: latency, peak memory, top ops"},
    {"fbank", cmd_fbank, "audio file to Kaldi fbank features (.npy), as torchaudio"},
    {"preprocess", cmd_preprocess, "clean a model up before quantizing (fold, fuse, upgrade opset)"},
    {"compare", cmd_compare, "float vs quantized model: accuracy per output/layer, latency"},
    {"fp16", cmd_fp16, "convert a float32 model to float16 (or bfloat16)"},
    {"dynamic", cmd_dynamic, "int8 dynamic quantization (weights 8-bit, activations at run time)"},
    {"static", cmd_static, "int8 static quantization calibrated on real data (wav, images, tensors)"},
    {"tune", cmd_tune, "search quantization settings for the fastest model within an accuracy bound"},
};
enum { N_COMMANDS = sizeof commands / sizeof commands[0] };

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: onnxq COMMAND [OPTIONS] ...\n"
            "\n"
            "Look inside, convert, quantize and run ONNX models.\n"
            "\n"
            "commands:\n");
    for (int i = 0; i < N_COMMANDS; i++)
        fprintf(fp, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(fp, "\n'onnxq COMMAND --help' describes a command.\n"
                "Exit status: 0 ok, 1 error, 2 usage error.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return CLI_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("onnxq " ONNXQ_VERSION_STRING "\n");
        return CLI_OK;
    }
    for (int i = 0; i < N_COMMANDS; i++)
        if (strcmp(argv[1], commands[i].name) == 0) {
            cli_reset_getopt();
            return commands[i].fn(argc - 1, argv + 1);
        }
    fprintf(stderr, "onnxq: unknown command '%s'; try 'onnxq --help'\n",
            argv[1]);
    return CLI_USAGE;
}
