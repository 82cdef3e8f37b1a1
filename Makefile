# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test install install-run browser translations screenshots clean bench fonts

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Re-install whenever pyproject.toml changes. Running needs only the app's own packages; the tests also need
# Playwright, Hypothesis and the rest of the test extras. One stamp file each, so switching between
# `make run` and `make test` installs only what is missing.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# What running needs (`make run`).
install-run: $(VENV)/.installed-run

# Everything, test extras included (`make test`, and for working on Worry Box).
install: $(VENV)/.installed-test

# Re-extract the kiosk's words and merge them into every language's catalogue (then translate, then compile).
translations: install-run
	$(BIN)/pybabel extract -F babel.cfg -k _l -k N_ -k lazy_gettext --no-location --omit-header --sort-output \
	    -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching
	$(BIN)/pybabel compile -d translations --statistics

# The browser tests need Debian's Chromium and axe-core from npm; installed here, never by hand.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	    echo "Installing Debian's chromium for the browser tests"; \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
	        chromium fonts-noto-core fonts-noto-color-emoji >/dev/null; }
	@[ -f tests/browser/node_modules/axe-core/axe.min.js ] || npm ci --prefix tests/browser --silent --no-audit --no-fund

# Refresh the kiosk's web fonts (OFL) from the @fontsource npm packages. Only this needs npm; the kiosk serves
# the committed files in static/fonts/. Weights 400 and 700, and only the script subsets the kiosk's languages
# use: Latin and Latin Extended (Polish), Gurmukhi (Punjabi), Arabic (Urdu, in Noto Naskh Arabic).
FONTS := noto-sans:latin noto-sans:latin-ext noto-sans-gurmukhi:gurmukhi noto-naskh-arabic:arabic
# Noto Naskh Arabic's Arabic subset also carries the Arabic Supplement and Extended letters and presentation forms,
# and the Arabic block itself letters of Sindhi, Pashto and Kurdish and Quranic marks, none of which Urdu uses.
# Keeping Urdu's letters (with the Arabic ones an Arabic keyboard types), its marks, digits and punctuation and the
# joiners takes each weight from 52 KB to 19 KB, so an Urdu page comes sooner on slow Wi-Fi. A letter left out
# still shows, in the tablet's own font. static/worrybox.css has the same range; tests/test_fonts.py checks both.
ARABIC_KEPT := U+0600-0658,U+0660-066D,U+0670,U+0679,U+067E,U+0686,U+0688,U+0691,U+0698,U+06A9,U+06AF,U+06BA,U+06BE,U+06C0-06C3,U+06CC,U+06D2-06D5,U+06F0-06F9,U+200C-200F
# Polish needs nine letters beyond Latin-1 (both cases), which sit in the 57 KB Latin Extended file meant for
# every European name: they get a file of their own (2 KB a weight), and the rest of Latin Extended is fetched
# only by a page that shows another such letter (a pupil's name). The stylesheet splits the range the same way.
POLISH_KEPT := U+0104-0107,U+0118-0119,U+0141-0144,U+015A-015B,U+0179-017C
# Every subset keeps the font's shaping rules for the letters kept (Urdu's joined forms) and its names and licence.
SUBSET = $(BIN)/pyftsubset --layout-features='*' --name-IDs='*' --name-languages='*' --flavor=woff2
fonts: install-run
	@rm -rf .fonts-download && mkdir -p .fonts-download static/fonts
	@set -e; cd .fonts-download; for entry in $(FONTS); do \
	    package=$${entry%%:*}; subset=$${entry##*:}; \
	    [ -d $$package ] || { mkdir $$package; tar xzf $$(npm pack --silent @fontsource/$$package) -C $$package; }; \
	    for weight in 400 700; do cp $$package/package/files/$$package-$$subset-$$weight-normal.woff2 ../static/fonts/; done; \
	    cp $$package/package/LICENSE ../static/fonts/OFL-$$package.txt; \
	done
	@rm -rf .fonts-download
	$(BIN)/python -m pip install --quiet 'fonttools[woff]>=4.50'
	@set -e; for weight in 400 700; do file=static/fonts/noto-naskh-arabic-arabic-$$weight-normal.woff2; \
	    $(SUBSET) $$file --unicodes=$(ARABIC_KEPT) --output-file=$$file.subset && mv $$file.subset $$file; done
	@set -e; for weight in 400 700; do $(SUBSET) static/fonts/noto-sans-latin-ext-$$weight-normal.woff2 \
	    --unicodes=$(POLISH_KEPT) --output-file=static/fonts/noto-sans-polish-$$weight-normal.woff2; done
	@# The start screen names every language in its own script. Those few letters come from a font of their own
	@# (about 1 KB per script), so an English start screen does not fetch all of Urdu and Punjabi for two words.
	@set -e; names="$$($(BIN)/python -c 'from worrybox.languages import LANGUAGES; print("".join(n for n, _ in LANGUAGES.values()))')"; \
	for script in naskh-arabic-arabic sans-gurmukhi-gurmukhi; do \
	    $(SUBSET) static/fonts/noto-$$script-700-normal.woff2 --text="$$names" \
	        --output-file=static/fonts/language-names-$${script##*-}-700.woff2; done
	@ls -l static/fonts

# Refresh docs/screenshots (start screen and worry form in every language) from the browser tests.
screenshots: install browser
	WORRYBOX_SCREENSHOTS=1 $(BIN)/python -m pytest tests/test_browser.py -k screenshots -q

# DEMO_OPTIONS passes more options to `worrybox demo`, e.g. DEMO_OPTIONS="--kiosk-port 8100 --console-port 8101".
run: install-run
	$(BIN)/worrybox demo --data-dir ./demo-data $(DEMO_OPTIONS)

# Most tests wait on one core (Argon2, Chromium, gunicorn): one worker per core halves the run on 2 cores. Tests
# that time an answer run afterwards, by themselves, so nothing else shares the machine while they measure.
test: install browser
	$(BIN)/python -m pytest -n auto --dist loadfile -m "not alone"
	$(BIN)/python -m pytest -m alone

# Not part of `make test`: serves the apps under gunicorn on 127.0.0.1, loads them with wrk and the kiosk in a
# throttled Chromium (~7 minutes).
bench: install
	@command -v wrk >/dev/null || apt-get install -y wrk || (apt-get update && apt-get install -y wrk)
	@command -v chromium >/dev/null || $(MAKE) browser
	$(BIN)/python -u bench/run.py

clean:
	rm -rf $(VENV) demo-data .pytest_cache tests/browser/node_modules .fonts-download
