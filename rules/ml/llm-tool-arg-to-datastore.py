from langchain.agents import Tool
from langchain.tools import BaseTool, tool


class TransactionDb:
    def get_user_transactions(self, user_id):
        raise NotImplementedError

    def get_user(self, user_id):
        raise NotImplementedError

    def close(self):
        pass


def get_transactions(userId: str):
    db = TransactionDb()
    # ruleid: secgate.ml.llm-tool-arg-to-datastore
    transactions = db.get_user_transactions(userId)
    db.close()
    return transactions


get_transactions_tool = Tool(name="GetUserTransactions", func=get_transactions, description="...")


def get_current_user(input: str):
    db = TransactionDb()
    # ok: secgate.ml.llm-tool-arg-to-datastore
    user = db.get_user(1)
    db.close()
    return user


get_current_user_tool = Tool(name="GetCurrentUser", func=get_current_user, description="...")


@tool
def order_status(order_id: str) -> str:
    """Look up an order."""
    # ruleid: secgate.ml.llm-tool-arg-to-datastore
    return str(repo.find_order(order_id))


class UserTool(BaseTool):
    name = "user"

    def _run(self, user_id: str, run_manager=None) -> str:
        # ok: secgate.ml.llm-tool-arg-to-datastore
        return str(self.db.get_user(int(user_id)))


def not_a_tool(user_id):
    db = TransactionDb()
    # ok: secgate.ml.llm-tool-arg-to-datastore
    return db.get_user(user_id)
