"""Persistence: SQLAlchemy models, repositories, the unit of work and the migrations.

Imports neither aiogram nor the service layer; services reach the data through `UnitOfWork`.
"""

from storage.database import Database, DatabaseUrlError, PoolLimits, normalize_database_url
from storage.uow import Repositories, UnitOfWork

__all__ = ["Database", "DatabaseUrlError", "PoolLimits", "Repositories", "UnitOfWork", "normalize_database_url"]
