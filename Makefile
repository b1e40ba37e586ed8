# Atelier: the two commands are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# `make run` is for a developer's machine: DEBUG gives it a development SECRET_KEY.
RUN_ENV := DEBUG=$${DEBUG:-true}

.PHONY: install run test worker beat lint format bench lock clean

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	touch $(STAMP)

run: install
	mkdir -p var
	$(RUN_ENV) $(BIN)/python manage.py migrate --noinput
	$(RUN_ENV) $(BIN)/python manage.py createcachetable
	$(RUN_ENV) $(BIN)/python manage.py ensure_admin
	$(RUN_ENV) $(BIN)/python -m uvicorn config.asgi:application --host $(HOST) --port $(PORT) --lifespan on

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

worker: install
	$(RUN_ENV) $(BIN)/celery -A config worker --loglevel=info

beat: install
	$(RUN_ENV) $(BIN)/celery -A config beat --loglevel=info --scheduler django_celery_beat.schedulers:DatabaseScheduler

# mypy's Django plugin imports the settings: DEBUG gives them a development SECRET_KEY.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DEBUG=true $(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# Regenerate requirements.lock from pyproject.toml in a scratch environment.
lock:
	rm -rf /tmp/atelier-lock && $(PYTHON) -m venv /tmp/atelier-lock
	/tmp/atelier-lock/bin/pip install --quiet '.[dev]'
	/tmp/atelier-lock/bin/pip freeze --exclude atelier > requirements.lock

clean:
	rm -rf $(VENV)
