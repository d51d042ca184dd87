# Two commands on a fresh machine with Python >= 3.11 and pip:
#   make report   creates .venv, installs qreport, builds the sample report
#   make test     same set-up if missing, then the whole test suite
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
EXAMPLES := jet_mlp cnn conv1d
export TF_CPP_MIN_LOG_LEVEL := 3
export PYTHONHASHSEED := 0

.PHONY: report test samples update-gold bench examples clean hgq2-models

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit("qreport needs Python >= 3.11") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[test]'
	@touch $@

# Written to out/ (ignored by git), never over the committed sample_reports/:
# a PDF's bytes can legitimately differ with the machine's Pango/HarfBuzz.
report: $(STAMP)
	@mkdir -p out
	$(VENV)/bin/qreport build --example cnn -o out/cnn.pdf
	@echo "sample report: out/cnn.pdf"

test: $(STAMP)
	$(PY) -m pytest -q

samples: $(STAMP)
	@for e in $(EXAMPLES); do for f in json html pdf md yml; do \
	  echo "sample_reports/$$e.$$f"; \
	  $(VENV)/bin/qreport build --quiet --example $$e -o sample_reports/$$e.$$f || exit 1; \
	done; done
	@echo "sample_reports/jet_mlp_po2.yml"; \
	  $(VENV)/bin/qreport build --quiet --example jet_mlp_po2 -o sample_reports/jet_mlp_po2.yml
	@for f in json html pdf md; do \
	  echo "sample_reports/diff_jet_mlp.$$f"; \
	  $(VENV)/bin/qreport diff example:jet_mlp example:jet_mlp_v2 -o sample_reports/diff_jet_mlp.$$f || exit 1; \
	done

# The gold files of the tests are the sample reports: rewrite them on purpose,
# then read git diff sample_reports (a failing gold test kept its output in tests/actual/).
update-gold: samples

examples: $(STAMP)
	$(PY) examples/build_examples.py

bench: $(STAMP)
	$(PY) bench/run.py
	$(PY) bench/many.py

clean:
	rm -rf $(VENV) build out *.egg-info

# The HGQ2 test models and what they are checked against (tests/hgq2/), made in their
# own venvs: hgq2 installs a `qkeras` package over qkeras-v3's, so it never enters .venv.
# Published files come from hgq2 0.1.x (Keras <= 3.10) and 0.2.x: both make the forms.
hgq2-models:
	python3 -m venv .venv-hgq2
	.venv-hgq2/bin/pip install -q hgq2==0.2.0 jax jaxlib hls4ml==1.3.0 h5py
	python3 -m venv .venv-hgq2-0.1.5
	.venv-hgq2-0.1.5/bin/pip install -q hgq2==0.1.5 keras==3.10.0 jax jaxlib hls4ml==1.3.0 h5py
	cd tests/hgq2 && ../../.venv-hgq2/bin/python make_models.py
	cd tests/hgq2 && ../../.venv-hgq2-0.1.5/bin/python make_forms.py
	cd tests/hgq2 && ../../.venv-hgq2/bin/python make_forms.py
