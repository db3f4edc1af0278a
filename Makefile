# onnxq — the two commands of the README, and a few more for developers.
#   make demo   install what is missing, build, run the main job on the demo model
#   make test   install what is missing, build Release + ASan/UBSan + fuzz builds,
#               run every test through ctest
# After `make`, the tool is at build/onnxq.

JOBS      ?= $(shell nproc)
BUILD     := build
ASAN      := build-asan
FUZZ      := build-fuzz
DEMO      := examples/speaker/sv_demo.onnx
DEMO_WAV  := examples/speaker/wav
FUZZ_SECONDS ?= 60

.PHONY: all deps build demo test test-release test-asan test-fuzz fuzz clean

all: build

deps:
	@scripts/deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build $(BUILD) -j$(JOBS)

demo: build
	@echo "== onnxq info $(DEMO)"
	@$(BUILD)/onnxq info $(DEMO)
	@echo
	@echo "== onnxq layers $(DEMO)"
	@$(BUILD)/onnxq layers $(DEMO)
	@echo
	@echo "== onnxq layers --ops $(DEMO)"
	@$(BUILD)/onnxq layers --ops $(DEMO)
	@echo
	@echo "== onnxq check $(DEMO)"
	@$(BUILD)/onnxq check $(DEMO)
	@echo
	@echo "== onnxq fbank examples/speaker/wav/demo_spk1_1.wav $(BUILD)/demo_spk1_1.npy"
	@$(BUILD)/onnxq fbank examples/speaker/wav/demo_spk1_1.wav $(BUILD)/demo_spk1_1.npy
	@echo
	@echo "== onnxq run $(DEMO) --input feat=$(BUILD)/demo_spk1_1.npy"
	@$(BUILD)/onnxq run $(DEMO) --input feat=$(BUILD)/demo_spk1_1.npy
	@echo
	@echo "== onnxq bench $(DEMO) --shape feat=1,300,80 --runs 5"
	@$(BUILD)/onnxq bench $(DEMO) --shape feat=1,300,80 --runs 5 --warmup 1
	@echo
	@echo "== onnxq preprocess $(DEMO) $(BUILD)/demo.opt.onnx"
	@$(BUILD)/onnxq preprocess $(DEMO) $(BUILD)/demo.opt.onnx
	@echo
	@echo "== onnxq static $(DEMO) $(BUILD)/demo.sint8.onnx --calib-wav $(DEMO_WAV) --num-samples 8 --no-replacement --threads 1"
	@# 8 of the 12 wavs calibrate; the check table (size, latency, cosine of
	@# float32 vs int8) runs on the 4 held out; 1 thread: stable timings
	@$(BUILD)/onnxq static $(DEMO) $(BUILD)/demo.sint8.onnx --calib-wav $(DEMO_WAV) \
	    --num-samples 8 --no-replacement --threads 1
	@echo
	@echo "== onnxq compare $(DEMO) $(BUILD)/demo.sint8.onnx --calib-wav $(DEMO_WAV) --threads 1"
	@$(BUILD)/onnxq compare $(DEMO) $(BUILD)/demo.sint8.onnx --calib-wav $(DEMO_WAV) \
	    --threads 1 --report $(BUILD)/demo-compare.html
	@echo
	@echo "== onnxq tune $(DEMO) --calib-wav $(DEMO_WAV) --max-drop cosine=0.995 --out $(BUILD)/demo.tuned.onnx"
	@$(BUILD)/onnxq tune $(DEMO) --calib-wav $(DEMO_WAV) --max-drop cosine=0.995 \
	    --out $(BUILD)/demo.tuned.onnx --report $(BUILD)/demo-tune.html
	@echo
	@echo "== onnxq fp16 $(DEMO) $(BUILD)/demo-fp16.onnx --keep-io-types"
	@$(BUILD)/onnxq fp16 $(DEMO) $(BUILD)/demo-fp16.onnx --keep-io-types
	@echo
	@echo "== onnxq dynamic $(DEMO) $(BUILD)/demo.int8.onnx --op-types Conv,Gemm --input feat=$(BUILD)/demo_spk1_1.npy"
	@$(BUILD)/onnxq dynamic $(DEMO) $(BUILD)/demo.int8.onnx --op-types Conv,Gemm \
	    --input feat=$(BUILD)/demo_spk1_1.npy

test: deps test-release test-asan test-fuzz

test-release: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

# The sanitizer build skips the >2 GiB test (ASan's shadow memory makes it
# slow without checking anything the Release run does not).
test-asan: deps
	cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DONNXQ_SANITIZE=ON \
	      -DONNXQ_BIG_TESTS=OFF >/dev/null
	cmake --build $(ASAN) -j$(JOBS)
	cd $(ASAN) && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j$(JOBS)

test-fuzz: deps
	CC=clang cmake -S . -B $(FUZZ) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	      -DONNXQ_FUZZ=ON -DONNXQ_BIG_TESTS=OFF >/dev/null
	cmake --build $(FUZZ) -j$(JOBS)
	cd $(FUZZ) && ctest --output-on-failure -R '^fuzz_'

# Fuzz the loader and checker for FUZZ_SECONDS (default 60).
fuzz: deps
	CC=clang cmake -S . -B $(FUZZ) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	      -DONNXQ_FUZZ=ON -DONNXQ_BIG_TESTS=OFF >/dev/null
	cmake --build $(FUZZ) -j$(JOBS)
	fuzz/make_seeds.sh $(FUZZ)/fuzz-corpus
	$(FUZZ)/fuzz/fuzz_load -max_total_time=$(FUZZ_SECONDS) $(FUZZ)/fuzz-corpus

clean:
	rm -rf $(BUILD) $(ASAN) $(FUZZ)
