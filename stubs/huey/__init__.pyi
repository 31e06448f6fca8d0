# The part of huey 3.x that courseware uses (huey ships no type information).
from huey.api import Huey as Huey
from huey.api import RedisHuey as RedisHuey
from huey.api import SqliteHuey as SqliteHuey
from huey.api import crontab as crontab
from huey.exceptions import RetryTask as RetryTask
