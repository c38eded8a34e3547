<%@ WebHandler Language="C#" Class="Status" %>
using System.Web;
public class Status : IHttpHandler {
  public void ProcessRequest(HttpContext context) {
    context.Response.ContentType = "application/json";
    context.Response.Write("{\"ok\":true,\"user\":\"" + HttpUtility.JavaScriptStringEncode(context.Request["name"]) + "\"}");
  }
  public bool IsReusable { get { return true; } }
}
