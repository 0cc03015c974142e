"""`gunicorn wsgi:app` and `flask` (FLASK_APP=wsgi) both start here."""
from clinic import create_app

app = create_app()
